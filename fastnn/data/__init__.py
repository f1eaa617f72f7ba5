"""Small data files shipped inside the fastnn package (read with importlib.resources)."""
