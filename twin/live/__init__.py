"""Live plant data (MQTT, OPC UA): sources, the recorder and the twin run beside the plant.

``feed.py`` is the seam: a source turns what the plant sends into ``Reading`` batches for a
``Feed`` (the recorder, the workbench's live view) on a thread of its own, never touching Qt;
sources register by URL scheme (``open_source("mqtt://...")``).
"""
