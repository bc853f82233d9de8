"""Simulated sensors that publish over MQTT exactly as devices do, faults included."""
