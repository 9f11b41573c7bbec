"""Model lifecycle, offline: compare upstream ids with the installed LiteLLM's bundled model map."""

from __future__ import annotations

from datetime import date, timedelta

RETIRING_SOON = timedelta(days=30)


def lifecycle_findings(model_map: dict, today: date) -> list[tuple[str, str]]:
    """(level, message) per id that needs attention; level is "error" or "warning".

    + model_map: ``{upstream_id: {"deprecation_date": "YYYY-MM-DD" | None, ...} | None}``
    """
    findings = []
    for model_id, entry in sorted(model_map.items()):
        if entry is None:
            findings.append((
                "warning",
                f"{model_id}: not in the installed LiteLLM's model map; check the id "
                "(a typo routes every request of that tier to an error)",
            ))
            continue
        retires = entry.get("deprecation_date")
        if not retires:
            continue
        retire_day = date.fromisoformat(retires)
        if retire_day <= today:
            findings.append((
                "error",
                f"{model_id}: retired on {retires}; pin a current model with --data",
            ))
        elif retire_day - today <= RETIRING_SOON:
            findings.append((
                "warning",
                f"{model_id}: retires on {retires}; pin its successor with --data before then",
            ))
    return findings
