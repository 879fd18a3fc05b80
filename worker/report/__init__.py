"""`backup-validator report`: what the records say, per resource and per fleet slice (pure logic and rendering)."""
