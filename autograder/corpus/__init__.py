"""Wrong answers and bad submissions that the checks and the grading tools must reject."""
