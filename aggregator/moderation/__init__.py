"""Moderation: what decides whether a post reaches the screens.

- `rules` — the configured rules (blocked words, trusted and banned authors) and how a post is judged;
- `folding` — the normalised text the rules match, so disguised words are still found;
- `flood` — the same text from many accounts in a short time;
- `live_rules` — the rules staff edit in the console, merged with the configured ones;
- `edits` — an edit at the source judged again, held behind the version staff approved;
- `decisions` — a moderator's decision on a post, with its log entry and undo;
- `queue` — the posts waiting for staff, filtered as the console asks;
- `waiting` — how many posts wait and since when, and how each moderator wants to be told.
"""
