"""E1/PRI: framer, D-channel, Q.921/Q.931 and the B-channels as call channels.

This first step holds the B-channel (`PriBChannel`), written against the call-control
primitives of a Q.931 stack (`PriSpan`): SETUP, ALERTING, CONNECT, DISCONNECT per
B-channel. The sans-I/O Q.921/Q.931 stack and the framer driver implement `PriSpan` in a
later step; until then the simulated board's `drivers.sim.pri.SimPriSpan` plays the far
switch at that primitive level.
"""
