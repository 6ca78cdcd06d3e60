"""Planning: turning analyses into draft plans and agreements in the store (``draft``), and a programme's
progress against its targets (``progress``: the store read here, the counting in
``analysis.programme_progress``). Above the analyses and the store; below the API and CLI."""
