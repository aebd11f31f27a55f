"""The ACD: queues, agents, strategies and statistics, as a deterministic sans-I/O core.

- ``core.AcdCore``: the state of queues, agents and callers; ``handle(event, now)``,
  ``next_deadline()``, ``on_timer(now)`` return commands (``messages``);
- ``machine``: the agent and caller transition tables (the one state machine);
- ``strategies``: distribution strategies;
- ``log``: the queue event log record and its CSV form;
- ``kpi``: KPIs of DOMAIN.md recomputed from the log for any period;
- ``erlang``: Erlang B/C, service level and ASA for checking and staffing;
- ``simulator``: a traffic simulator that drives the same core.

This package owns no I/O: the call engine (firmware/calls) carries out the commands and
feeds the events; the event store persists the log.
"""
