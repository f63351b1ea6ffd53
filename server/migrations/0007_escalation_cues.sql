-- Why each escalation was raised: the classifier's cues (rule names and
-- categories, e.g. "ideation:want_to_die,timing:timing,p=0.91"), never
-- the message text.
ALTER TABLE escalations ADD COLUMN cues TEXT NOT NULL DEFAULT '';
