"""Tests of the embedded AWS demo: the moto server wrapper and the seeded Northwind estate."""
