"""The workflow cost targets of issue 14 (item 8), held in CI: both seed workflows, run with the
task tools and with the raw API tools as the baseline (workflow_cost.py, also run by
`scripts/workflow-cost`), each checked against the sandbox's state afterwards."""

from __future__ import annotations

import workflow_cost
from workflow_cost import OLD_WAY, TARGETS, TASK_WAY


def test_task_tools_meet_the_workflow_cost_targets(deskgate):
    report = workflow_cost.measure(deskgate)
    print(report.markdown())
    for workflow, (calls, tokens) in TARGETS.items():
        run = report.run(workflow, TASK_WAY)
        assert len(run.calls) <= calls, report.markdown()
        assert run.tokens <= tokens, report.markdown()
        assert not any(c.is_error for c in run.calls), report.markdown()
        # The baseline ran in the same process and did the same work; the task tools cost less.
        baseline = report.run(workflow, OLD_WAY)
        assert len(run.calls) < len(baseline.calls) and run.tokens < baseline.tokens, report.markdown()
        assert run.tools_list_tokens < baseline.tools_list_tokens, report.markdown()
    assert report.ok
