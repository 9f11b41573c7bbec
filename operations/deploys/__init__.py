"""The openClaude deploys: ``openclaude`` (deploy.py, rollback.py) and ``verify`` (verify.py)."""
