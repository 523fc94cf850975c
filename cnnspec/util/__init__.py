"""Small helpers every stage uses: int/sympy dimension arithmetic, identifiers, units, safe output files."""
