"""The study editor: forms and tables bound to a StudyDocument."""
