"""Teacher pages: the inbox, one thread with every translation and delivery, and writing a
note with a live preview of what each family will read (and what that says back in the
teacher's language).

Everything starts from the domains' readable statements and service calls, the same ones the
API uses: a thread or student the viewer cannot read answers 404 here exactly as there."""
