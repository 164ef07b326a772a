"""The worker and its process plumbing: the untrusted process that runs a submission (`serve`), the only
format that crosses to it (`wire`), and the grader's side that starts, confines and talks to it (`client`,
`launch`, `zygote`, `sandbox`, `lockdown`, `cgroups`, `limits`; `doctor` reports what holds here).

Nothing in this package scores anything: the worker is hostile, and every verdict is made in `grading`.
"""
