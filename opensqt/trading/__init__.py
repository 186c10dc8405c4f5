"""Strategy building blocks: pure logic, state managers, and the execution layer (REQUIREMENTS §14, §18)."""
