"""Pure core: no files, no environment, no clock. Time, ids and actors come in as arguments."""
