"""The monthly report for the People's Committee (Đề án 06): figures, the .docx, its scheduled delivery."""
