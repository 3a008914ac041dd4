"""The workbook contract (layout, cell coercion) and the grid backends."""
