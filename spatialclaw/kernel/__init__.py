"""The kernel: `KernelSession` and `CellResult` (`session`), what runs inside the kernel at start
(`bootstrap`), the process that applies limits and starts ipykernel (`launcher`) and the
bubblewrap sandbox (`sandbox`)."""
