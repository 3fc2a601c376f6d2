import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router.ts'
import { loadSite } from './stores/site.ts'
import './styles.css'

// Mounted once the site is known: its name, time zone and stations are in every view from the start.
void loadSite().then(() => createApp(App).use(router).mount('#app'))
