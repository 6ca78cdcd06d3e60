"""Getting files into the store: readers, validation against the layer spec, OSM tag mapping."""
