"""Pure decisions: grid levels, sizing, skew, ATR interval, funding spread and APR. No I/O, no clock."""
