"""The Word report (附件1 with 附件2 and 附件3 as tables): written from a workbook, checked as it is.

Pipeline like the workbook's: ``document`` (a .docx read safely into paragraphs and tables)
→ ``extract`` (label-anchored figures mapped onto the form's field ids, each with where it was
read) → ``check`` (the same rule catalogue) → the findings. ``writer`` and ``tables`` go the
other way: a filled workbook's values into a .docx.
"""
