"""Live plant data (MQTT, OPC UA): drivers, the recorder and the twin run beside the plant.

Empty for now; see issue 15. Drivers will register here as importers do in
``twin.recording``, hand batches over through a queue and never touch Qt.
"""
