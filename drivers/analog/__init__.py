"""Analog ports: FXS (SLIC, feeds a phone) and FXO (DAA, plugs into a phone-company line).

Port drivers (`FxsPort`, `FxoPort`) hold the line logic — hook debouncing, flash and pulse
dialing, ring cadences, ring detection, polarity and loop-current supervision — and talk to
a *chip* object handed to them (`SlicChip`, `DaaChip`). A chip is a real chip driver on an
SPI/I2C bus or a line-card MCU link, or a simulated chip in drivers/sim; the port drivers
cannot tell which.
"""
