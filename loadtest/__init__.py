"""The two-server deployment on loopback (PostgreSQL + Redis), its coherence test and its load test."""
