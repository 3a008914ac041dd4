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

' Python baslayabilir mi? xlwings.conf sayfasindaki yorumlayici dosyasi yoksa
' xlwings'in hatasi yerine ne yapilacagini soyler. Bos ya da %DEGISKEN% iceren
' bir yol xlwings'e birakilir.
' Can Python start? If the interpreter named on the xlwings.conf sheet (read as
' xlwings reads it) is not a file, say what to do instead of xlwings' error.
' Windows only: sandboxed Excel on macOS may not see a file that exists.
Function KolayBi_PythonVar() As Boolean
    Dim key As String, path As String, r As Long
    KolayBi_PythonVar = True
    If InStr(Application.OperatingSystem, "Mac") > 0 Then Exit Function
    key = "INTERPRETER_WIN"
    On Error GoTo Bitti
    With ThisWorkbook.Worksheets("xlwings.conf")
        r = 1
        Do While Len(Trim(CStr(.Cells(r, 1).Value))) > 0
            If UCase(Trim(CStr(.Cells(r, 1).Value))) = key Then path = Trim(CStr(.Cells(r, 2).Value))
            r = r + 1
        Loop
    End With
    If Len(path) = 0 Or InStr(path, "%") > 0 Then Exit Function
    If Len(Dir(path)) > 0 Then Exit Function
    KolayBi_PythonVar = False
    MsgBox "Python bulunamadi:" & vbLf & path & vbLf & vbLf & _
        "Bu calisma kitabi o Python'u kullaniyor (xlwings.conf sayfasi), ama dosya yok. " & _
        "Python'u kurun ya da kolaybi-xl kurulu Python ile yeni bir calisma kitabi yapin: " & _
        "kolaybi-xl init-workbook Faturalar.xlsm" & vbLf & _
        "Sonra kontrol edin: kolaybi-xl doctor Faturalar.xlsm", vbExclamation, "KolayBi"
Bitti:
End Function

' Faturalari getir / fetch invoices
Sub KolayBi_FaturalariGetir()
    If KolayBi_PythonVar() Then RunPython "import kolaybi_xl.excel as k; k.refresh_invoices()"
End Sub

' Kasalari getir / fetch cash and bank accounts
Sub KolayBi_KasalariGetir()
    If KolayBi_PythonVar() Then RunPython "import kolaybi_xl.excel as k; k.refresh_vaults()"
End Sub

' Isaretli satirlari tahsil et / collect the marked rows
Sub KolayBi_TahsilEt()
    If KolayBi_PythonVar() Then RunPython "import kolaybi_xl.excel as k; k.collect_marked()"
End Sub

' Isaretli satirlarin tahsilatini geri al / undo the collections of the rows marked "geri al"
Sub KolayBi_TahsilatiGeriAl()
    If KolayBi_PythonVar() Then RunPython "import kolaybi_xl.excel as k; k.undo_marked()"
End Sub

' Ozet olustur / build the summary report
Sub KolayBi_OzetOlustur()
    If KolayBi_PythonVar() Then RunPython "import kolaybi_xl.excel as k; k.build_report()"
End Sub

' Kurulum kontrolu / check the setup (kolaybi-xl doctor)
Sub KolayBi_KurulumKontrolu()
    If KolayBi_PythonVar() Then RunPython "import kolaybi_xl.excel as k; k.check_setup()"
End Sub
