"""Parent-teacher conferences: a teacher's times, booked by the families by text."""
