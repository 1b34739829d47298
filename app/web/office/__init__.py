"""Office pages: broadcasts (compose, preview, send, report), the families directory, and
roster imports. Every page calls the same domain services as the API, with the viewer's
AuthSubject, so the office sees and changes exactly what its API key could; each page is for
office staff and admins (OfficeViewer)."""
