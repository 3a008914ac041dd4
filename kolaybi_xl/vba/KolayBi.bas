Attribute VB_Name = "KolayBi"
' KolayBi - Excel eklentisi / Excel add-in for the KolayBi accounting API.
'
' Sablondaki dugmeler bu makrolari cagirir. Her makro, xlwings modulundeki
' RunPython ile kolaybi_xl.excel icindeki tek bir Python fonksiyonunu calistirir.
' The template's buttons call these macros. Each one runs a single Python
' function of kolaybi_xl.excel through RunPython (see the xlwings module).
'
' Generated from kolaybi_xl/vba/KolayBi.bas: edit that file, not this module.
' ASCII only: the project's code page is 1252.
Option Explicit

' Faturalari getir / fetch invoices
Sub KolayBi_FaturalariGetir()
    RunPython "import kolaybi_xl.excel as k; k.refresh_invoices()"
End Sub

' Kasalari getir / fetch cash and bank accounts
Sub KolayBi_KasalariGetir()
    RunPython "import kolaybi_xl.excel as k; k.refresh_vaults()"
End Sub

' Isaretli satirlari tahsil et / collect the marked rows
Sub KolayBi_TahsilEt()
    RunPython "import kolaybi_xl.excel as k; k.collect_marked()"
End Sub

' Ozet olustur / build the summary report
Sub KolayBi_OzetOlustur()
    RunPython "import kolaybi_xl.excel as k; k.build_report()"
End Sub
