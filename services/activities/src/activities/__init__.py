"""Activities: learning and organisational life for drivers on the move (搭建学习平台)."""
