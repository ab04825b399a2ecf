"""Live calls: transcript turns as they are spoken, stored, and fed to live destinations."""
