"""The real sky: catalogue stars at their true places, so a plate solver accepts our frames.

    catalogue.py  Gaia DR3 (G < 10) loaded once per process, queried by a Dec-sorted index
    colours.py    Gaia G, BP, RP -> the magnitude through one of our filters
    field.py      the catalogue stars a frame holds, placed through its header WCS
    pointings.py  default pointings whose frames hold enough catalogue stars to plate-solve
"""
