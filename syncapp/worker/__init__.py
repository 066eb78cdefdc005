"""What runs only inside worker processes: executing a run, its heartbeat and
recorder, failure classification, worker liveness, and the reaper."""
