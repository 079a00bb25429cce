"""Welfare: needs hotline, warm-heart stations and care campaigns (提供精准服务)."""
