"""Eclipse Tahu's Sparkplug B schema (sparkplug_b.proto, EPL-2.0) and its protoc output (sparkplug_b_pb2)."""
