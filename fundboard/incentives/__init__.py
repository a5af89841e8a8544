"""Marathon mode: incentives (goals, bid wars, stretch chains) funded from donation message
tags, their moderation queue, and the run schedule. See README "Marathon mode"."""
