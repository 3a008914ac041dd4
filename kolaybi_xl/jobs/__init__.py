"""What the user asks for, written once against the Grid interface.

Jobs never import openpyxl or xlwings: the command line and the Excel entry points hand
them a grid and a client.
"""
