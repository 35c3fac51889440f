# Colab's kernel imports google.colab as it starts; the stand-in does the same (IPython runs this at start).
import google.colab  # noqa: F401
