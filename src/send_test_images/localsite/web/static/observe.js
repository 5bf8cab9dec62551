// The observe page: polls /site/{site}/observe.json and draws the strip, the chosen image and
// its details. Everything is built with textContent, never innerHTML, so no value from a header
// or a file name can become markup.
"use strict";

(function () {
  const body = document.body;
  const site = body.dataset.site;
  const pollMs = Number(body.dataset.pollMs) || 1000;
  const feed = `/site/${encodeURIComponent(site)}/observe.json`;

  const $ = (id) => document.getElementById(id);
  const strip = $("strip");
  const thumbs = new Map(); // base_filename -> <li>
  let cards = new Map(); // base_filename -> card
  let selected = null; // base_filename shown in the detail
  let shownSignature = null;
  let firstDraw = true;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) node.append(child);
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

  function makeThumb(card) {
    const img = el("img", { alt: card.base_filename, loading: "lazy" });
    if (card.thumbnail_url) img.src = card.thumbnail_url;
    const li = el("li", { className: "thumb", tabIndex: 0, title: card.base_filename }, img,
      el("span", { className: "when", textContent: card.capture_ms ? clock(card.capture_ms) : "—" }),
      el("span", { className: "meta", textContent: [card.filter, card.exposure_time != null ? `${card.exposure_time} s` : ""].filter(Boolean).join(" · ") }));
    if (card.smartstack) li.append(el("span", { className: "stack", textContent: stackLabel(card) }));
    li.dataset.base = card.base_filename;
    li.dataset.signature = JSON.stringify([card.thumbnail_url, card.smartstack, card.filter, card.exposure_time, card.capture_ms]);
    li.addEventListener("click", () => choose(card.base_filename, true));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") choose(card.base_filename, true); });
    return li;
  }

  function drawStrip(list) {
    const order = [];
    for (const card of list) {
      let li = thumbs.get(card.base_filename);
      const signature = JSON.stringify([card.thumbnail_url, card.smartstack, card.filter, card.exposure_time, card.capture_ms]);
      if (!li || li.dataset.signature !== signature) {
        li = makeThumb(card);
        if (!firstDraw) li.classList.add("new");
        thumbs.set(card.base_filename, li);
      }
      li.classList.toggle("selected", card.base_filename === selected);
      order.push(li);
    }
    const current = Array.from(strip.children);
    if (current.length !== order.length || current.some((node, i) => node !== order[i])) {
      strip.replaceChildren(...order);
    }
    for (const base of Array.from(thumbs.keys())) {
      if (!cards.has(base)) thumbs.delete(base);
    }
    $("count").textContent = list.length ? `(${list.length})` : "";
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
        img.title = channel.base_filename || "";
      }
      img.hidden = !wanted;
      panel.querySelector(".placeholder").hidden = Boolean(wanted);
      panel.classList.toggle("empty", !wanted);
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

  async function drawHeader(base) {
    const tbody = $("header-table").tBodies[0];
    tbody.replaceChildren();
    let header = {};
    try {
      const answer = await fetch(`/fitsheader/${encodeURIComponent(base)}`);
      if (answer.ok) header = await answer.json();
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
    $("details").hidden = false;
    if (newImage) drawHeader(card.base_filename);
  }

  function choose(base, byUser) {
    selected = base;
    if (byUser) {
      const newest = strip.firstElementChild;
      $("follow").checked = Boolean(newest && newest.dataset.base === base);
    }
    for (const li of strip.children) li.classList.toggle("selected", li.dataset.base === base);
    const card = cards.get(base);
    if (card) show(card);
  }

  function setStatus(text, state) {
    const status = $("status");
    status.textContent = text;
    status.className = `status ${state}`;
  }

  function drawSites(sites) {
    const nav = $("sites");
    const names = sites.includes(site) ? sites : [...sites, site];
    const current = Array.from(nav.children).map((a) => a.textContent);
    if (JSON.stringify(current) === JSON.stringify(names)) return;
    nav.replaceChildren(...names.map((name) => {
      const a = el("a", { className: `site-link${name === site ? " current" : ""}`, href: `/site/${encodeURIComponent(name)}/observe`, textContent: name });
      if (name === site) a.setAttribute("aria-current", "page");
      return a;
    }));
  }

  async function poll() {
    try {
      const answer = await fetch(feed, { cache: "no-store" });
      if (!answer.ok) throw new Error(`${answer.status} ${await answer.text()}`);
      const data = await answer.json();
      cards = new Map(data.cards.map((card) => [card.base_filename, card]));
      drawStrip(data.cards);
      drawInfo(data.info);
      drawSites(data.sites);
      const newest = data.cards[0];
      if (newest && ($("follow").checked || !cards.has(selected))) {
        choose(newest.base_filename, false);
      } else if (selected && cards.has(selected)) {
        show(cards.get(selected));
      }
      firstDraw = false;
      setStatus(`live · ${data.cards.length} image${data.cards.length === 1 ? "" : "s"} · ${clock(Date.now())} UTC`, "live");
    } catch (error) {
      setStatus(`cannot reach the local site (${error.message})`, "down");
    } finally {
      setTimeout(poll, pollMs);
    }
  }

  $("header-filter").addEventListener("input", applyFilter);
  $("follow").addEventListener("change", () => {
    if ($("follow").checked && strip.firstElementChild) choose(strip.firstElementChild.dataset.base, false);
  });
  poll();
})();
