"""What the machine is doing: GPUs through NVML, CPU, memory and disks, and the boot report.

Readings that may block (NVML, ``statvfs`` on a network volume) are taken in worker
threads on a schedule and cached, so a status request only ever copies the latest sample.
"""
