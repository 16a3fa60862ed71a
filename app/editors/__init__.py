"""Property editors of the inspector (issue 14 §2): a distribution editor with its density,
failures, power per state, wear, maintenance, per-product times, routing, the shift calendar
and the tariff, and the derived values shown read-only. No JSON is typed by hand: each editor
builds the JSON form a project file holds and the project reader judges it."""
