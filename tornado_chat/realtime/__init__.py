"""The real-time side: the long-poll hub and its channels (no storage, no HTTP), the feed
that fills them from the database, the notifiers that carry committed changes to every
process, the cursor, and the events stream that answers a poll."""
