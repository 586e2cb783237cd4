//! todo
#![allow(unused)]
