"""Send a run: reserve numbers, journal, generate in processes, upload in threads, report."""
