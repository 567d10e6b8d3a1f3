"""Training beyond the proxy: the plain classifier (references), the fine-tuning module, recipe and runner."""
