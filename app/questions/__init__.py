"""Questions families answer in their language: yes/no (RSVP, permission), a choice of several, a
number, or free text, asked on a broadcast and answered by a text in any language."""
