"""Brands: the companies that open campaigns."""
