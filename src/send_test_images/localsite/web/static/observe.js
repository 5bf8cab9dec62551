// The observe page: draws the state embedded in the HTML at once, then polls
// /site/{site}/observe.json (with the filters and page as query parameters) and draws the strip,
// the chosen image, its details, histogram and star profile. Everything is built with
// textContent / createElementNS, never innerHTML, so no value from a header or a file name can
// become markup. Keys: ← previous (newer), → next (older), Home latest, End first of the night,
// as the real page's buttons (LCOGT/ptr_ui ButtonRowBelowImage.vue).
"use strict";

(function () {
  const body = document.body;
  const site = body.dataset.site;
  const pollMs = Number(body.dataset.pollMs) || 1000;
  const siteUrl = `/site/${encodeURIComponent(site)}`;
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const strip = $("strip");
  const thumbs = new Map(); // base_filename -> <li>
  let list = []; // cards of the current page, newest first
  let cards = new Map(); // base_filename -> card, the page's and the extra ones below
  let extra = new Map(); // info images, the night's first, a permalinked image
  let selected = null; // base_filename shown in the detail
  let shownSignature = null;
  let firstDraw = true;
  let filters = new URLSearchParams(); // what the filter form asks for
  let page = 0;
  let hasOlder = false;
  let firstOfNight = null;
  let pending = null; // "first" or "last": what to select once a new page has loaded
  let pollTimer = null;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) node.append(child);
    return node;
  }
  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text != null) node.textContent = text;
    return node;
  }

  const pad = (n) => String(n).padStart(2, "0");
  function utc(ms) {
    if (ms == null) return "—";
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }
  function clock(ms) {
    const d = new Date(ms);
    return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  const fixed = (v, digits) => (v == null ? "—" : Number(v).toFixed(digits));
  function sexagesimal(value, hours) {
    if (value == null) return "—";
    const sign = value < 0 ? "-" : hours ? "" : "+";
    let rest = Math.abs(value);
    const a = Math.floor(rest);
    rest = (rest - a) * 60;
    const b = Math.floor(rest);
    const c = ((rest - b) * 60).toFixed(hours ? 2 : 1);
    return `${sign}${pad(a)}${hours ? "h" : "°"}${pad(b)}${hours ? "m" : "′"}${c.padStart(hours ? 5 : 4, "0")}${hours ? "s" : "″"}`;
  }

  function stackLabel(card) {
    const s = card.smartstack;
    return s ? `stack ${s.frame + 1}/${s.length}` : "";
  }
  const cardSignature = (card) => JSON.stringify([card.thumbnail_url, card.smartstack, card.filter, card.exposure_time, card.capture_ms]);

  function makeThumb(card) {
    const img = el("img", { alt: card.base_filename, loading: "lazy" });
    if (card.thumbnail_url) img.src = card.thumbnail_url;
    const li = el("li", { className: "thumb", tabIndex: 0, title: card.base_filename }, img,
      el("span", { className: "when", textContent: card.capture_ms ? clock(card.capture_ms) : "—" }),
      el("span", { className: "meta", textContent: [card.filter, card.exposure_time != null ? `${card.exposure_time} s` : ""].filter(Boolean).join(" · ") }));
    if (card.smartstack) li.append(el("span", { className: "stack", textContent: stackLabel(card) }));
    li.dataset.base = card.base_filename;
    li.dataset.signature = cardSignature(card);
    li.addEventListener("click", () => choose(card.base_filename, true));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") choose(card.base_filename, true); });
    return li;
  }

  function drawStrip() {
    // only an image that arrives while one looks at the same view is "new", not a page turned to
    const sameView = strip.dataset.view === feedUrl();
    strip.dataset.view = feedUrl();
    const order = [];
    for (const card of list) {
      let li = thumbs.get(card.base_filename);
      if (!li || li.dataset.signature !== cardSignature(card)) {
        li = makeThumb(card);
        if (!firstDraw && sameView && page === 0 && !filters.toString()) li.classList.add("new");
        thumbs.set(card.base_filename, li);
      }
      li.classList.toggle("selected", card.base_filename === selected);
      order.push(li);
    }
    const current = Array.from(strip.children);
    if (current.length !== order.length || current.some((node, i) => node !== order[i])) {
      strip.replaceChildren(...order);
    }
    const shown = new Set(list.map((c) => c.base_filename));
    for (const base of Array.from(thumbs.keys())) {
      if (!shown.has(base)) thumbs.delete(base);
    }
    const filtered = Boolean(filters.toString());
    $("strip-title").textContent = filtered ? "Matching images" : "Latest images";
    $("count").textContent = list.length ? `(${list.length})` : "";
    $("no-match").hidden = !(filtered && !list.length);
    $("page-label").textContent = `page ${page + 1}`;
    $("page-newer").disabled = page === 0;
    $("page-older").disabled = !hasOlder;
    const names = [...new Set(list.map((c) => c.filter).filter(Boolean))].sort();
    const datalist = $("filter-names");
    if (JSON.stringify(Array.from(datalist.options).map((o) => o.value)) !== JSON.stringify(names)) {
      datalist.replaceChildren(...names.map((name) => el("option", { value: name })));
    }
  }

  function drawInfo(info) {
    for (const channel of info) {
      const panel = document.querySelector(`.info-panel[data-channel="${channel.channel}"]`);
      if (!panel) continue;
      const img = panel.querySelector("img");
      const wanted = channel.jpg_url || "";
      if (img.dataset.url !== wanted) {
        img.dataset.url = wanted;
        if (wanted) img.src = wanted; else img.removeAttribute("src");
      }
      img.title = channel.base_filename || "";
      panel.dataset.base = channel.base_filename || "";
      panel.querySelector(".info-open").hidden = !wanted;
      panel.querySelector(".placeholder").hidden = Boolean(wanted);
      panel.classList.toggle("empty", !wanted);
      panel.classList.toggle("selected", Boolean(wanted) && channel.base_filename === selected);
    }
  }

  function drawCapture(card) {
    const rows = [
      ["Time", utc(card.capture_ms)],
      ["Exposure", card.exposure_time == null ? "—" : `${card.exposure_time} s`],
      ["Filter", card.filter || "—"],
      // right_ascension is in degrees, as the real API answers it; the real UI divides by 15 too
      ["RA", sexagesimal(card.right_ascension == null ? null : card.right_ascension / 15, true)],
      ["Dec", sexagesimal(card.declination, false)],
      ["Alt / Az", `${fixed(card.altitude, 2)}° / ${fixed(card.azimuth, 2)}°`],
      ["Airmass", fixed(card.airmass, 3)],
      ["User", card.username ? `${card.username}${card.user_id ? ` (${card.user_id})` : ""}` : "—"],
      ["Type", card.data_type || "—"],
    ];
    if (card.directory && card.directory !== "data") rows.push(["Directory", card.directory]);
    if (card.smartstack) rows.push(["Smartstack", `${card.smartstack.id}: frame ${card.smartstack.frame + 1} of ${card.smartstack.length}`]);
    const dl = $("capture");
    dl.replaceChildren();
    for (const [name, value] of rows) {
      const dd = el("dd", { textContent: value });
      dd.dataset.field = name.toLowerCase();
      dl.append(el("dt", { textContent: name }), dd);
    }
    const files = $("files");
    files.replaceChildren();
    for (const file of card.files) {
      files.append(el("li", {}, el("a", { href: file.url, textContent: file.name, download: file.name })));
    }
    if (card.jpg_url) files.append(el("li", {}, el("a", { href: card.jpg_url, textContent: `${card.base_filename} JPG`, target: "_blank" })));
    if (!card.files.length) files.prepend(el("li", { className: "none", textContent: "no FITS files for this image" }));
  }

  function drawInfoBar(card) {
    // FWHMASEC and SEPSKY, as the real info bar shows them (ptr_ui ImageInfoBar.vue)
    const fwhm = card.fwhm_arcsec != null ? `${Number(card.fwhm_arcsec).toFixed(2)}″` +
      (card.fwhm_pixels != null ? ` (${Number(card.fwhm_pixels).toFixed(2)} px)` : "")
      : card.fwhm_pixels != null ? `${Number(card.fwhm_pixels).toFixed(2)} px` : "n/a";
    const values = {
      exptime: card.exposure_time == null ? "—" : `${card.exposure_time} s`,
      filter: card.filter || "—",
      fwhm,
      sky: card.sky_adu == null ? "n/a" : `${Math.round(card.sky_adu)} ADU`,
    };
    for (const [field, value] of Object.entries(values)) {
      document.querySelector(`#info-bar dd[data-field="${field}"]`).textContent = value;
    }
  }

  async function getJson(url) {
    const answer = await fetch(url, { cache: "no-store" });
    if (!answer.ok) throw new Error(`${answer.status} ${await answer.text()}`);
    return answer.json();
  }
  const imageUrl = (base) => `${siteUrl}/image/${encodeURIComponent(base)}`;

  async function drawHeader(base) {
    const tbody = $("header-table").tBodies[0];
    tbody.replaceChildren();
    let header = {};
    try {
      header = (await getJson(`${imageUrl(base)}.json`)).header || {};
    } catch (error) {
      header = {};
    }
    if (base !== selected) return; // the user moved on while this was loading
    const rows = Object.entries(header).map(([key, value]) => {
      const tr = el("tr", {}, el("td", { textContent: key }), el("td", { textContent: value }));
      tr.dataset.key = key;
      return tr;
    });
    if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 2, className: "none", textContent: "no header for this image" })));
    tbody.replaceChildren(...rows);
    $("header-table").dataset.base = base;
    applyFilter();
  }

  function applyFilter() {
    const wanted = $("header-filter").value.trim().toUpperCase();
    for (const tr of $("header-table").tBodies[0].rows) {
      tr.hidden = Boolean(wanted) && !(tr.dataset.key || "").includes(wanted);
    }
  }

  // --- pixels: histogram and star profile -------------------------------------------------------

  function chartMessage(chart, text) {
    const box = chart.viewBox.baseVal;
    chart.replaceChildren(svg("text", { x: 10, y: box.height / 2 }, text));
  }

  async function drawHistogram(card) {
    const chart = $("histogram");
    chart.dataset.base = "";
    $("histogram-range").textContent = "";
    if (!card.files.length) { chartMessage(chart, "no FITS file: nothing to measure"); return; }
    chartMessage(chart, "reading the small FITS…");
    let histogram;
    try {
      histogram = await getJson(`${imageUrl(card.base_filename)}/histogram.json`);
    } catch (error) {
      if (card.base_filename === selected) chartMessage(chart, `cannot measure: ${error.message}`);
      return;
    }
    if (card.base_filename !== selected) return;
    const width = 320, height = 120, bottom = 104, top = 6;
    const logs = histogram.counts.map((c) => Math.log10(c + 1));
    const most = Math.max(...logs, 1);
    const barWidth = width / logs.length;
    const bars = logs.map((v, i) => {
      const h = ((bottom - top) * v) / most;
      return svg("rect", { class: "bar", x: (i * barWidth).toFixed(2), y: (bottom - h).toFixed(2), width: Math.max(barWidth - 0.5, 0.5).toFixed(2), height: h.toFixed(2) });
    });
    chart.replaceChildren(
      svg("line", { class: "axis", x1: 0, y1: bottom, x2: width, y2: bottom }),
      ...bars,
      svg("text", { x: 2, y: height - 4 }, Math.round(histogram.low).toString()),
      svg("text", { x: width - 2, y: height - 4, "text-anchor": "end" }, Math.round(histogram.high).toString()),
      svg("text", { x: width / 2, y: height - 4, "text-anchor": "middle" }, `median ${Math.round(histogram.median)} ADU · log counts`),
    );
    chart.dataset.bars = String(bars.length);
    chart.dataset.base = card.base_filename;
    $("histogram-range").textContent = `${Math.round(histogram.low)}–${Math.round(histogram.high)} ADU`;
  }

  function clearStar() {
    $("star-mark").hidden = true;
    chartMessage($("profile"), "click a star in the image above");
    $("profile").dataset.base = "";
    for (const dd of $("star-numbers").querySelectorAll("dd")) dd.textContent = "—";
  }

  async function measureStar(event) {
    const card = cards.get(selected);
    const img = $("main-image");
    if (!card || img.hidden) return;
    const box = img.getBoundingClientRect();
    const fx = (event.clientX - box.left) / box.width;
    const fy = (event.clientY - box.top) / box.height;
    if (!card.files.length) { chartMessage($("profile"), "no FITS file: nothing to measure"); return; }
    chartMessage($("profile"), "measuring…");
    let star;
    try {
      star = await getJson(`${imageUrl(card.base_filename)}/star.json?x=${fx.toFixed(5)}&y=${fy.toFixed(5)}`);
    } catch (error) {
      chartMessage($("profile"), `cannot measure: ${error.message}`);
      return;
    }
    if (card.base_filename !== selected) return;
    drawProfile(star, card.base_filename);
  }

  function drawProfile(measured, base) {
    let star = measured;
    const chart = $("profile");
    const width = 320, height = 160, left = 30, right = 8, top = 8, bottom = 140;
    // out to four FWHM (at least 6 px): a sharp star's profile is not squeezed against the axis
    const reach = Math.max(6, 4 * (star.fwhm_pixels || 0));
    const kept = star.radii.map((r, i) => [r, star.values[i]]).filter(([r]) => r <= reach);
    star = { ...star, radii: kept.map(([r]) => r), values: kept.map(([, v]) => v) };
    const maxR = Math.max(...star.radii, 1);
    const maxV = Math.max(...star.values, star.peak, 1);
    const x = (r) => left + ((width - left - right) * r) / maxR;
    const y = (v) => bottom - ((bottom - top) * Math.max(v, 0)) / maxV;
    const points = star.radii.map((r, i) => `${x(r).toFixed(1)},${y(star.values[i]).toFixed(1)}`).join(" ");
    const parts = [
      svg("line", { class: "axis", x1: left, y1: bottom, x2: width - right, y2: bottom }),
      svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: bottom }),
      svg("polyline", { class: "line", points }),
      ...star.radii.map((r, i) => svg("circle", { class: "point", cx: x(r).toFixed(1), cy: y(star.values[i]).toFixed(1), r: 2.5 })),
      svg("text", { x: left, y: height - 6 }, "0"),
      svg("text", { x: width - right, y: height - 6, "text-anchor": "end" }, `${maxR.toFixed(1)} px from centre`),
      svg("text", { x: 2, y: top + 8 }, Math.round(maxV).toString()),
    ];
    if (star.fwhm_pixels != null) {
      const half = x(star.fwhm_pixels / 2);
      parts.push(svg("line", { class: "half", x1: half, y1: top, x2: half, y2: bottom }),
        svg("text", { x: half + 3, y: top + 18 }, "HWHM"));
    }
    chart.replaceChildren(...parts);
    chart.dataset.base = base;
    chart.dataset.points = String(star.radii.length);
    const numbers = {
      fwhm: star.fwhm_pixels == null ? "no star here" : `${star.fwhm_pixels.toFixed(2)} px`,
      peak: `${Math.round(star.peak)} ADU above sky${star.saturated ? " (saturated: FWHM from its wings)" : ""}`,
      sky: `${Math.round(star.sky)} ADU around the star`,
      centre: `x ${star.x.toFixed(1)}, y ${star.y.toFixed(1)} (FITS, from 0)`,
    };
    for (const [field, value] of Object.entries(numbers)) {
      $("star-numbers").querySelector(`dd[data-field="${field}"]`).textContent = value;
    }
    // mark the centroid on the JPG (its top row is the FITS's last)
    const img = $("main-image");
    const frame = $("image-frame").getBoundingClientRect();
    const box = img.getBoundingClientRect();
    const mark = $("star-mark");
    const size = Math.max(14, ((star.fwhm_pixels || 3) * 3 * box.width) / star.width);
    mark.style.width = mark.style.height = `${size}px`;
    mark.style.left = `${box.left - frame.left + ((star.x + 0.5) / star.width) * box.width - size / 2}px`;
    mark.style.top = `${box.top - frame.top + (1 - (star.y + 0.5) / star.height) * box.height - size / 2}px`;
    mark.hidden = false;
  }

  // --- choosing an image ------------------------------------------------------------------------

  function show(card) {
    const signature = JSON.stringify(card);
    if (signature === shownSignature) return;
    const newImage = !shownSignature || JSON.parse(shownSignature).base_filename !== card.base_filename;
    shownSignature = signature;
    const img = $("main-image");
    if (newImage || img.dataset.url !== card.jpg_url) {
      img.dataset.url = card.jpg_url || "";
      if (card.jpg_url) img.src = card.jpg_url;
      img.alt = card.base_filename;
    }
    img.hidden = !card.jpg_url;
    $("no-image").hidden = true;
    $("image-name").textContent = card.base_filename;
    const badge = $("stack-badge");
    badge.hidden = !card.smartstack;
    badge.textContent = card.smartstack ? `smartstack · ${card.smartstack.length} frames · showing #${card.smartstack.frame + 1}` : "";
    drawCapture(card);
    drawInfoBar(card);
    $("details").hidden = false;
    if (newImage) {
      drawHeader(card.base_filename);
      drawHistogram(card);
      clearStar();
    }
  }

  function setUrl(path) {
    if (window.location.pathname !== path) window.history.replaceState({ base: selected }, "", path);
    $("permalink").href = path;
  }

  function choose(base, byUser) {
    selected = base;
    if (byUser) {
      $("follow").checked = page === 0 && !filters.toString() && list.length > 0 && list[0].base_filename === base;
    }
    for (const li of strip.children) li.classList.toggle("selected", li.dataset.base === base);
    for (const panel of document.querySelectorAll(".info-panel")) {
      panel.classList.toggle("selected", panel.dataset.base === base && !panel.classList.contains("empty"));
    }
    const card = cards.get(base);
    if (card) show(card);
    $("permalink").href = imageUrl(base);
    if (byUser || !$("follow").checked) setUrl(imageUrl(base));
    else setUrl(`${siteUrl}/observe`);
  }

  function step(delta) {
    const index = list.findIndex((c) => c.base_filename === selected);
    const target = index + delta;
    if (index >= 0 && target >= 0 && target < list.length) {
      choose(list[target].base_filename, true);
    } else if (index >= 0 && target >= list.length && hasOlder) {
      loadPage(page + 1, "first");
    } else if (index >= 0 && target < 0 && page > 0) {
      loadPage(page - 1, "last");
    } else if (index < 0 && list.length) {
      choose(list[0].base_filename, true);
    }
  }

  function latest() {
    $("follow").checked = true;
    if (page !== 0) { loadPage(0, "first"); return; }
    if (list.length) choose(list[0].base_filename, false);
  }

  function firstOfTheNight() {
    if (!firstOfNight) return;
    extra.set(firstOfNight.base_filename, firstOfNight);
    cards.set(firstOfNight.base_filename, firstOfNight);
    choose(firstOfNight.base_filename, true);
  }

  // --- the feed ---------------------------------------------------------------------------------

  function setStatus(text, state) {
    const status = $("status");
    status.textContent = text;
    status.className = `status ${state}`;
  }

  function drawSites(sites) {
    const nav = $("sites");
    const current = Array.from(nav.children).map((a) => `${a.dataset.name || a.textContent.trim()}:${!a.classList.contains("no-data")}`);
    const wanted = sites.map((s) => `${s.name}:${s.has_data}`);
    if (JSON.stringify(current) === JSON.stringify(wanted)) return;
    nav.replaceChildren(...sites.map((s) => {
      const a = el("a", { className: `site-link${s.name === site ? " current" : ""}${s.has_data ? "" : " no-data"}`, href: `/site/${encodeURIComponent(s.name)}/observe`, textContent: s.name });
      a.dataset.name = s.name;
      if (!s.has_data) {
        a.title = `no images stored for ${s.name}`;
        a.append(" ", el("span", { className: "no-data-mark", textContent: "no data" }));
      }
      if (s.name === site) a.setAttribute("aria-current", "page");
      return a;
    }));
  }

  function apply(data) {
    list = data.cards;
    page = data.page;
    hasOlder = data.has_older;
    firstOfNight = data.first_of_night;
    extra = new Map([...extra].filter(([base]) => base === selected));
    for (const channel of data.info) if (channel.card) extra.set(channel.card.base_filename, channel.card);
    if (firstOfNight) extra.set(firstOfNight.base_filename, firstOfNight);
    cards = new Map([...extra, ...list.map((card) => [card.base_filename, card])]);
    drawStrip();
    drawInfo(data.info);
    drawSites(data.sites);
    if (pending && list.length) {
      choose((pending === "first" ? list[0] : list[list.length - 1]).base_filename, pending !== "first" || page !== 0 || !$("follow").checked);
      pending = null;
    } else if (list.length && ($("follow").checked || !cards.has(selected))) {
      choose(list[0].base_filename, false);
    } else if (selected && cards.has(selected)) {
      show(cards.get(selected));
    }
    firstDraw = false;
    const filtered = filters.toString() ? " matching" : "";
    setStatus(`live · ${list.length}${filtered} image${list.length === 1 ? "" : "s"} · page ${page + 1} · ${clock(Date.now())} UTC`, "live");
  }

  function feedUrl() {
    const params = new URLSearchParams(filters);
    if (page) params.set("page", String(page));
    const query = params.toString();
    return `${siteUrl}/observe.json${query ? `?${query}` : ""}`;
  }

  async function poll() {
    clearTimeout(pollTimer);
    const url = feedUrl();
    try {
      const answer = await fetch(url, { cache: "no-store" });
      const text = await answer.text();
      if (url !== feedUrl()) {
        // the filters or page changed while this was on its way: its answer is stale
      } else if (answer.status === 400) {
        $("filter-error").textContent = text;
        setStatus(`filters refused: ${text}`, "down");
      } else if (!answer.ok) {
        throw new Error(`${answer.status} ${text}`);
      } else {
        $("filter-error").textContent = "";
        apply(JSON.parse(text));
        strip.dataset.query = url.split("?")[1] || "";
      }
    } catch (error) {
      setStatus(`cannot reach the local site (${error.message})`, "down");
    } finally {
      pollTimer = setTimeout(poll, pollMs);
    }
  }

  function loadPage(number, then) {
    page = number;
    pending = then;
    if (then === "first" && number === 0 && $("follow").checked) pending = null;
    poll();
  }

  function readFilters() {
    const form = $("filters");
    const params = new URLSearchParams();
    for (const input of form.querySelectorAll("input[name]")) {
      let value = input.value.trim();
      if (!value) continue;
      if (input.type === "datetime-local") value = value.replace("T", " "); // UTC, as the form says
      params.set(input.name, value);
    }
    return params;
  }

  // --- wiring -----------------------------------------------------------------------------------

  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    filters = readFilters();
    $("follow").checked = true;
    loadPage(0, null);
  });
  $("filters").addEventListener("reset", () => {
    filters = new URLSearchParams();
    $("filter-error").textContent = "";
    $("follow").checked = true;
    loadPage(0, null);
  });
  $("page-older").addEventListener("click", () => { $("follow").checked = false; loadPage(page + 1, "first"); });
  $("page-newer").addEventListener("click", () => loadPage(Math.max(0, page - 1), "first"));
  $("nav-latest").addEventListener("click", latest);
  $("nav-previous").addEventListener("click", () => step(-1));
  $("nav-next").addEventListener("click", () => step(1));
  $("nav-first").addEventListener("click", firstOfTheNight);
  $("main-image").addEventListener("click", measureStar);
  for (const panel of document.querySelectorAll(".info-panel")) {
    panel.querySelector(".info-open").addEventListener("click", () => {
      if (panel.dataset.base && cards.has(panel.dataset.base)) choose(panel.dataset.base, true);
    });
  }
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    const action = { ArrowLeft: () => step(-1), ArrowRight: () => step(1), Home: latest, End: firstOfTheNight }[event.key];
    if (action) { event.preventDefault(); action(); }
  });
  $("header-filter").addEventListener("input", applyFilter);
  $("follow").addEventListener("change", () => {
    if ($("follow").checked) latest();
  });

  // the state the server rendered into the page: drawn before any request
  const initial = JSON.parse($("initial-state").textContent);
  if (initial.selected) {
    $("follow").checked = false;
    extra.set(initial.selected.base_filename, initial.selected);
    selected = initial.selected.base_filename;
  }
  apply(initial);
  if (initial.selected) choose(initial.selected.base_filename, false);
  setStatus(`${list.length} image${list.length === 1 ? "" : "s"} · as of ${clock(Date.now())} UTC`, "live");
  pollTimer = setTimeout(poll, pollMs);
})();
