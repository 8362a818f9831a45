/* A minimal CPython extension: the reason the builder stage needs gcc and python3-dev. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *greet(PyObject *self, PyObject *args) {
    return PyUnicode_FromString("hello from C");
}

static PyMethodDef methods[] = {
    {"greet", greet, METH_NOARGS, "Say hello."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fastpath", NULL, -1, methods};

PyMODINIT_FUNC PyInit_fastpath(void) { return PyModule_Create(&module); }
